package main

import "context"

// runGenerate is written by the synth work; this placeholder keeps the tree
// building until it lands.
func runGenerate(_ context.Context, _ *cliEnv, _ []string) error {
	return usageErrorf("generate is not available in this build")
}
