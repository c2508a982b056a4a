//go:build !linux

package main

// keepInheritedFds is a no-op where there is no sandbox init.
func keepInheritedFds() {}
