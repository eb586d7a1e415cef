package crashtest

import (
	"os"
	"testing"

	"github.com/fleetbot/fleetbot/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.Stop()
	os.Exit(code)
}
