// Package decode is fleetbot's one strict YAML decoder: it walks the
// yaml.Node trees of the files people write (campaigns, layout files, fleet
// files, the serve configuration) and collects every problem it finds, each
// naming file, line and field path ("file:line: field.path: reason"):
// unknown keys with a suggestion, repeated keys, wrong types, missing and
// empty values. How strict a mapping is belongs to the caller: Fields knows
// its keys, Entries takes any name, and Repeated checks a file fleetbot
// shares with other tools for repeated keys alone. It knows no file format and must not import
// anything of the module: rollout, gitops and internal/config import it.
package decode
