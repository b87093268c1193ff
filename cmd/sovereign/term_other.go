//go:build !linux

package main

import (
	"bufio"
	"os"
	"strings"
)

// isTTY reports whether f is a character device, the nearest this system offers to "a terminal".
func isTTY(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// readNoEcho reads a line from the terminal f. Echo stays on here: on this system, prefer
// SOVEREIGN_PASSWORD or --password-stdin.
func readNoEcho(f *os.File) (string, error) {
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
