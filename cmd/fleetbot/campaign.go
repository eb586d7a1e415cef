package main

import (
	"fmt"
	"os"

	"github.com/fleetbot/fleetbot/rollout"
)

// loadCampaign reads a campaign file and parses it; rollout itself never
// reads a disk.
func loadCampaign(path string) (*rollout.Campaign, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read campaign: %w", err)
	}
	return rollout.ParseCampaign(path, src)
}
