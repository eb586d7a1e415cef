// Package crashtest runs whole campaigns against `fleetbot serve` processes
// that are killed, paused and restarted, and checks what people would see
// on GitHub at the end: one pull request per tenant per wave, no cluster
// edited twice, every cluster upgraded.
package crashtest
