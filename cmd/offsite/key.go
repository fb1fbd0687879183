package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/offsite-backup/offsite/codec"
	"github.com/offsite-backup/offsite/internal/termsafe"
)

func cmdKey(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key generate",
		Short: "Make an encryption key for encrypt: recipients",
	}
	var out string
	gen := &cobra.Command{
		Use:   "generate [--out FILE]",
		Short: "Write a new age key (private, 0600) and print its public key for the config",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			file, public, err := codec.NewKey(time.Now())
			if err != nil {
				return err
			}
			if out == "" {
				// No file: the private key goes to the terminal, to print or store.
				fmt.Fprint(g.stdout, string(file))
			} else if err := codec.WriteKeyFile(out, file); err != nil {
				return err
			} else {
				fmt.Fprintf(g.stdout, "private key written to %s (readable only by you)\n", termsafe.Quote(out))
			}
			fmt.Fprintf(g.stdout, "public key: %s\n\n", public)
			fmt.Fprintln(g.stdout, "Put the public key under encrypt: recipients: in the config.")
			fmt.Fprintln(g.stdout, "WARNING: whoever loses this private key loses every backup encrypted to it: nobody,")
			fmt.Fprintln(g.stdout, "offsite included, can open them without it. Print it, keep it with the lease papers,")
			fmt.Fprintln(g.stdout, "and do not keep it only on this PC (see docs/restore.md, key escrow).")
			return nil
		},
	}
	gen.Flags().StringVar(&out, "out", "", "write the private key to FILE (0600) instead of printing it")
	cmd.AddCommand(gen)
	return cmd
}
