// Command pause is the pod sandbox's process: it holds the pod's namespaces
// and exits on SIGINT or SIGTERM, so a pod stops at once. The local cluster
// has no registry to pull the upstream pause image from.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	// As PID 1 of a shared process namespace it also reaps orphans.
	signal.Ignore(syscall.SIGCHLD)
	<-stop
}
