package demo_test

import (
	"os"
	"testing"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

// TestMain stops the dynalite that TestDemoDynamoDB starts.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Stop()
	os.Exit(code)
}
