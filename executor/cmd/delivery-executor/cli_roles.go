package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/task"
)

const rolesUsage = `usage: delivery-executor roles list [--json] [--endpoint URL] [--token T]

  roles list   every delivery role: name, ARN, creation time, description (never a secret)
`

func runRoles(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, rolesUsage)
		return 2
	}
	switch args[0] {
	case "list":
		return runRolesList(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, rolesUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "delivery-executor roles: unknown subcommand %q\n\n%s", args[0], rolesUsage)
		return 2
	}
}

func runRolesList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("roles list", flag.ContinueOnError)
	var cfg cliConfig
	cfg.register(fs)
	asJSON := fs.Bool("json", false, "print the roles as JSON")
	if _, ok, code := parseCLI(fs, args, stderr, 0, 0, ""); !ok {
		return code
	}
	c, err := cfg.client()
	if err != nil {
		return cliError(stderr, fs.Name(), err)
	}
	ctx, cancel := cliContext(cfg.timeout)
	defer cancel()
	roles, err := c.ListRoles(ctx)
	if err != nil {
		return cliError(stderr, fs.Name(), err)
	}
	if *asJSON {
		return printJSON(stdout, stderr, task.RoleList{Roles: roles})
	}
	if len(roles) == 0 {
		fmt.Fprintln(stdout, "no roles")
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tARN\tCREATED\tDESCRIPTION")
	for _, r := range roles {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.ARN, r.CreatedAt.UTC().Format(time.RFC3339), dash(r.Description))
	}
	_ = tw.Flush()
	return 0
}
