// Thin copy of github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes
// main.go. Upstream embeds schema-embed.json and terraform-mapping-embed.json,
// which its `go generate` step (cmd/pulumi-resource-kubernetes/generate.go)
// writes next to main.go and which are therefore absent from the module zip
// served by the Go module proxy. build.sh runs that same generate.go (with
// VERSION set) into a temporary directory and passes the two files to
// `go build -overlay`, so nothing generated is ever written into this tree.
// A plain `go build` here fails with "pattern schema-embed.json: no matching files found".
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

var providerName = "kubernetes"

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve(providerName, version.Version, pulumiSchema, terraformMapping)
}
