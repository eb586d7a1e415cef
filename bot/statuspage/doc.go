// Package statuspage is what `fleetbot serve` shows everyone at / and under
// /api/v1/campaigns: the fleet grid (each tenant's clusters by environment,
// with their version and their step in the campaign that holds them) and
// each campaign's progress and what it waits for. It builds one view model
// from values the bot read (the store's states, the fleet's inventory) and
// renders it as HTML; the bot serves the same model as JSON. It reads
// nothing itself and changes nothing: the page has no form, no script and
// no link that acts.
package statuspage
