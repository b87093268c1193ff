//go:build !linux

package main

import (
	"bufio"
	"os"
	"strings"
)

// readNoEcho reads a line from the terminal f. Echo stays on here: on this system, prefer
// SOVEREIGN_PASSWORD or --password-stdin.
func readNoEcho(f *os.File) (string, error) {
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
