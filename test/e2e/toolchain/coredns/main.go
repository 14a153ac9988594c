// The e2e cluster's DNS server: CoreDNS v1.14.7 with only the plugins its Corefile uses (see ../README.md), instead
// of upstream's core/plugin, which links every plugin (cloud DNS providers, etcd, dnstap, ...) and doubles the build.
// The server's directive order (core/dnsserver's zdirectives.go) is upstream's, whatever is linked.
package main

import (
	"github.com/coredns/coredns/coremain"

	// The server types (dns://, ...).
	_ "github.com/coredns/coredns/core/dnsserver"
	// The plugins of node-up.sh's Corefile.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"
)

func main() {
	coremain.Run()
}
