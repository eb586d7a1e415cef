// Package ghcontract checks HTTP traffic against GitHub's published OpenAPI
// description of its REST API, so that tests can prove every request
// fleetbot sends and every response the local GitHub sandbox returns is one
// GitHub documents. It parses the description once, translates the OpenAPI
// 3.0 schema dialect into JSON Schema and compiles only the schemas an
// operation needs, when that operation is first checked. It reports
// mismatches as a *Mismatch naming the method, path, operation, status and
// the JSON pointer of each bad field; it never changes the traffic it
// watches and never talks to GitHub.
package ghcontract
