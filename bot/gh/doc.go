// Package gh is fleetbot's thin GitHub client: *Client, the calls the bot
// makes, over go-github. It declares no interface of them: each user declares
// the few methods it calls (bot.Client, wave.EnsureClient, bot.GateAPI). The
// bot reaches GitHub only through it, and nothing it exports exposes
// go-github's types.
//
// Every request, whether signed with the App's JWT, an installation token or a
// static token, runs through one chain of http.RoundTrippers, outermost first:
//
//   - edge: sets the User-Agent and keeps go-github from refusing requests on
//     its own once a response said the limit is spent (the limit layer waits
//     instead);
//   - cache: conditional GETs. A GET whose answer carried an ETag is sent again
//     with If-None-Match; a 304 is answered from the stored body (GitHub does
//     not count a 304 against the primary limit). Entries are keyed by the
//     identity making the call (installation, "app", "token") and the URL, and
//     the cache is bounded;
//   - retry: 500, 502, 503 and 504 answers and network errors are retried
//     with exponential backoff and jitter on idempotent methods (GET, HEAD,
//     PUT, DELETE, OPTIONS) and on minting installation tokens. A POST or
//     PATCH that may have reached GitHub is never sent twice: creating a
//     commit, comment or pull request twice is worse than reporting the error.
//     Only a network error proving nothing was sent (the connection was never
//     dialled) lets such a request be retried;
//   - limit: waits before sending while the identity's primary limit is spent
//     (X-RateLimit-Remaining 0, until X-RateLimit-Reset) or a secondary limit
//     is in force (Retry-After, X-RateLimit-Reset, or a minute), and re-sends a
//     request GitHub refused for either reason (a refusal means GitHub did
//     not act, so even a POST is sent again). A wait longer than
//     RetryPolicy.MaxWait, or a refusal on the last attempt, is returned as
//     a *RateLimitError. It also paces each identity before GitHub has to
//     refuse: it learns the limit, what is left and the reset from every
//     answer, and once less than RetryPolicy.PaceReserve of the limit is
//     left it spaces the requests so the rest lasts until the reset (Pace).
//     Requests of a context marked Background (the reconcile loop's
//     polling) leave the last RetryPolicy.PaceKeep of the limit to the work
//     webhooks ask for;
//   - count: counts every attempt that reaches the network by route template,
//     method and status, and records X-RateLimit-Remaining per identity.
//
// The clock the chain reads and sleeps on is injectable (Config.Clock), so
// tests assert the waits it chose, not wall time. The package must not decide
// anything about a rollout: it carries calls, maps errors and nothing more.
package gh
