// Command coredns is CoreDNS with only the plugins raykube's local cluster uses.
//
// The upstream main package links every plugin (cloud DNS providers, etcd, ...), which multiplies the
// download and compile time on a two-core machine. CoreDNS registers plugins through package init
// functions, so a main that imports coremain plus the plugins we want is CoreDNS with a smaller plugin
// set; the Corefile syntax and behaviour of each plugin are unchanged.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func main() {
	coremain.Run()
}
