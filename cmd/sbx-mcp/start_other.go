//go:build !linux

package main

// prepareProcess is a no-op where there is no sandbox init.
func prepareProcess() {}
