package cli

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/fleetbot/fleetbot/deploy"
	"github.com/spf13/cobra"
)

// appManifestOptions are the inputs of `fleetbot app manifest`.
type appManifestOptions struct {
	url   string
	name  string
	form  bool
	org   string
	web   string
	state string
}

func newAppCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "app",
		Short: "The GitHub App fleetbot runs as: its manifest, for registering it",
	}
	cmd.AddCommand(newAppManifestCmd())
	return cmd
}

func newAppManifestCmd() *cobra.Command {
	opts := &appManifestOptions{}
	cmd := &cobra.Command{
		Use:   "manifest [--url BASE] [--name NAME] [--form --org ORG]",
		Short: "Print the GitHub App manifest: the permissions and events fleetbot needs, nothing more",
		Long: `Manifest prints the GitHub App manifest of deploy/github-app.json: the
permissions and webhook events fleetbot serve needs, and no others.

--url is the public URL of fleetbot serve: the webhook goes to URL/webhook and
GitHub's manifest flow sends the browser back to URL/ with the code to
exchange for the App's id, private key and webhook secret. Without --url the
placeholders of deploy/github-app.json (fleetbot.example.com) are kept.

With --form the command prints an HTML page instead: open it in a browser
signed in to GitHub and its button registers the App from the manifest,
under the organisation --org (or your own account without it). The page
carries --state (random by default, printed on stderr); GitHub hands it back
on the redirect. docs/install.md walks through the rest.`,
		Example: `  fleetbot app manifest --url https://fleetbot.acme.example
  fleetbot app manifest --url https://fleetbot.acme.example --name acme-fleetbot --form --org acme > register.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAppManifest(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.url, "url", "", "public URL of fleetbot serve, such as https://fleetbot.acme.example")
	cmd.Flags().StringVar(&opts.name, "name", "", "the App's name on GitHub, unique, at most 34 characters (default: fleetbot)")
	cmd.Flags().BoolVar(&opts.form, "form", false, "print the HTML page of GitHub's manifest flow instead of the JSON")
	cmd.Flags().StringVar(&opts.org, "org", "", "with --form: register the App under this organisation (default: your own account)")
	cmd.Flags().StringVar(&opts.web, "github-url", "https://github.com", "with --form: GitHub's web address (https://HOST for GitHub Enterprise Server)")
	cmd.Flags().StringVar(&opts.state, "state", "", "with --form: the state GitHub hands back with the code (default: random)")
	return cmd
}

func runAppManifest(cmd *cobra.Command, opts *appManifestOptions) error {
	if !opts.form && (opts.org != "" || opts.state != "" || cmd.Flags().Changed("github-url")) {
		return &exitError{code: 2, err: errors.New("--org, --state and --github-url go with --form")}
	}
	m, err := deploy.AppManifest()
	if err != nil {
		return err
	}
	if m, err = m.For(opts.url, opts.name); err != nil {
		return &exitError{code: 2, err: err}
	}
	if !opts.form {
		out, err := m.JSON()
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(out)
		return err
	}
	if opts.url == "" {
		return &exitError{code: 2, err: errors.New("--form needs --url: the App would send its webhooks to fleetbot.example.com")}
	}
	state := opts.state
	if state == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("manifest flow state: %w", err)
		}
		state = hex.EncodeToString(b)
		fmt.Fprintf(cmd.ErrOrStderr(), "state: %s (GitHub hands it back with the code)\n", state)
	}
	action, err := deploy.RegisterURL(opts.web, opts.org, state)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	return m.WriteForm(cmd.OutOrStdout(), action)
}
