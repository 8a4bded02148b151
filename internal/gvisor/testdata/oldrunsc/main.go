// Command oldrunsc stands in for a runsc release that predates `runsc do`.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println("runsc version release-20181201.0")
		return
	}
	fmt.Println("Subcommands:\n\tcreate           create a secure container\n\trun              create and run a secure container")
}
