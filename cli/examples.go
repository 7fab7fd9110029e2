package cli

import "github.com/spf13/cobra"

// addExamples gives cobra's own commands (help, completion and its shells)
// the Examples section every rdd command has; rdd's commands carry theirs
// where they are defined.
func addExamples(root *cobra.Command) {
	examples := map[string]string{
		"rdd":                       "  rdd init && rdd daemon &\n  rdd set vm.driver=host running=true\n  docker --context rdd ps",
		"rdd help":                  "  rdd help set",
		"rdd completion":            "  source <(rdd completion bash)\n  rdd completion fish > ~/.config/fish/completions/rdd.fish",
		"rdd completion bash":       "  source <(rdd completion bash)\n  rdd completion bash > /etc/bash_completion.d/rdd",
		"rdd completion zsh":        "  rdd completion zsh > \"${fpath[1]}/_rdd\"",
		"rdd completion fish":       "  rdd completion fish | source\n  rdd completion fish > ~/.config/fish/completions/rdd.fish",
		"rdd completion powershell": "  rdd completion powershell | Out-String | Invoke-Expression",
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if ex, ok := examples[c.CommandPath()]; ok && c.Example == "" {
			c.Example = ex
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
