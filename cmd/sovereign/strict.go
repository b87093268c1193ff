package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// strict makes mistakes on the command line fail: under root and every command below it, a
// command group given an unknown subcommand (`sovereign agent lst`) and any command given an
// unknown flag exit non-zero, naming the closest subcommands or flag and how to get help. A
// group given no subcommand still prints its help.
func strict(root *cobra.Command) {
	root.SetFlagErrorFunc(flagError)
	// pflag writes every boolean flag as "--json[=true|false]": noise; "--json" says it.
	cobra.AddTemplateFunc("plainBools", func(s string) string {
		return strings.ReplaceAll(s, "[=true|false]", strings.Repeat(" ", len("[=true|false]")))
	})
	root.SetUsageTemplate(strings.ReplaceAll(root.UsageTemplate(), ".FlagUsages", ".FlagUsages | plainBools"))
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
			c.Args = cobra.ArbitraryArgs
			c.RunE = unknownSubcommand
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// unknownSubcommand is the RunE of a command group: its help without arguments, else an error
// naming the unknown subcommand and the closest ones.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return fmt.Errorf("%s\n\nAvailable commands: %s\nRun '%s --help' for usage", msg, strings.Join(names, ", "), cmd.CommandPath())
}

// flagError adds to a flag error the closest flag of cmd (when an unknown one was given) and
// how to get help.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		if best := closestFlag(cmd, name); best != "" {
			msg += fmt.Sprintf("\n\nDid you mean --%s?", best)
		}
	}
	return errors.New(msg + fmt.Sprintf("\nRun '%s --help' for usage", cmd.CommandPath()))
}

// closestFlag is the flag of cmd (its own and inherited) nearest to name — a prefix of it, or
// within two edits — or "".
func closestFlag(cmd *cobra.Command, name string) string {
	best, bestD := "", 3
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(name, f.Name)
		if strings.HasPrefix(f.Name, name) && len(name) >= 2 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = f.Name, d
		}
	}
	cmd.LocalFlags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
