//go:build !unix

package gitrepo

import "io/fs"

// ownedByMe cannot tell owners apart here; a fresh temporary directory is
// used instead.
func ownedByMe(fs.FileInfo) bool { return false }
