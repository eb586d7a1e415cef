// Package gitrepo is the git engine of the local GitHub sandbox: bare
// repositories on disk, read and written through the git command line, and
// served to git clients over smart HTTP. Every git process runs with a clean
// environment (no system or user configuration, a private empty HOME, no
// terminal prompts) and with author and committer data passed explicitly, so
// results depend only on the repository and the arguments. Writes to one
// repository are serialized by an in-process lock shared by every Repo value
// opened on the same path and by pushes (see Repo.WithLock); reads never wait.
// It knows nothing of GitHub's REST API, users or permissions: the sandbox
// server decides who may do what and calls this package to do it.
package gitrepo
