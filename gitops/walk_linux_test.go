package gitops

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMountsBelowFill(t *testing.T) {
	t.Parallel()
	const (
		root    = "26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
		proc    = "21 26 0:20 / /proc rw,relatime - proc proc rw\n"
		tmp     = "30 26 0:30 / /repo/cache rw - tmpfs tmpfs rw\n"
		fuse    = "31 26 0:31 / /repo/remote rw,nosuid shared:7 master:3 - fuse.sshfs host:/x rw\n"
		spaced  = "32 26 0:32 / /my\\040repo/nfs rw - nfs4 server:/x rw\n"
		sibling = "33 26 0:33 / /repository rw - fuse.sshfs host:/y rw\n"
	)
	tests := []struct {
		name, mountinfo, dir string
		want                 bool
	}{
		{"no mount below", root + proc, "/repo", true},
		{"a tmpfs below", root + tmp, "/repo", true},
		{"FUSE below", root + tmp + fuse, "/repo", false},
		{"FUSE elsewhere", root + fuse, "/srv", true},
		{"a sibling with a longer name is not below", root + sibling, "/repo", true},
		{"the directory itself is not below it", root + fuse, "/repo/remote", true},
		{"an escaped space", root + spaced, "/my repo", false},
		{"a line too short to name its mount point", root + "31 26\n", "/repo", false},
		{"a mount below without its type", root + "31 26 0:31 / /repo/x rw\n", "/repo", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, mountsBelowFill([]byte(tt.mountinfo), tt.dir))
		})
	}
}

// TestShortReadEnds checks the answer for a temporary directory: yes on a
// file system known to fill directory reads, no on any other.
func TestShortReadEnds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	_, filling := fillingFileSystems[int64(st.Type)]
	assert.Equal(t, filling, shortReadEnds(dir), "file system type %#x", st.Type)
	assert.False(t, shortReadEnds(dir+"/missing"))
}
