//go:build race

package cluster

// raceEnabled: the race detector slows the engines several times over, so
// the acceptance test loads fewer patients by default under it.
const raceEnabled = true
