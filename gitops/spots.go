package gitops

import (
	"crypto/sha256"
	"slices"

	"github.com/fleetbot/fleetbot/gitops/yamledit"
	"github.com/fleetbot/fleetbot/rollout"
)

// fileSpots are where the scalars a plan may edit sit in one file, as
// Load's parse of it found them (yamledit.Locate), with the digest of the
// bytes parsed: checking a plan's edits of the file starts from them
// instead of parsing it again, when it still holds those bytes.
type fileSpots struct {
	sum [sha256.Size]byte
	// data is the file as Load parsed it, kept for a label file (a few
	// lines): the plan's check starts from it instead of reading the file
	// again. Nil for a blueprint, whose check reads it and compares sum.
	data []byte
	at   []pathSpot
}

// pathSpot is the spot of the scalar at one key path.
type pathSpot struct {
	path []string
	spot yamledit.Spot
}

// find returns the spot of the scalar at p.
func (f *fileSpots) find(p yamledit.Path) (yamledit.Spot, bool) {
	for _, ps := range f.at {
		if slices.Equal(ps.path, p) {
			return ps.spot, true
		}
	}
	return yamledit.Spot{}, false
}

// repoFile names a file of a repository: the repository as given to Load,
// the path relative to it, slash-separated.
type repoFile struct{ repo, path string }

// applySpotChanges makes changes of sets alone on the file read gives
// without parsing it (yamledit.SetAt), when it holds the bytes the
// inventory parsed and every scalar they edit has a spot there. It reports
// false when it cannot: the caller then goes through the editor.
func applySpotChanges(read ReadFunc, fcs []rollout.FileChange, known *fileSpots) ([]FileResult, bool) {
	path := fcs[0].Path
	old, err := read(path)
	if err != nil || sha256.Sum256(old) != known.sum {
		return nil, false
	}
	after, ok := yamledit.SetAt(old, known.find, setSteps(fcs))
	if !ok {
		return nil, false
	}
	return setResults(path, old, after), true
}
