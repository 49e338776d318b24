package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// clusterCommands show the cluster a clustered daemon belongs to.
func clusterCommands() []*command {
	return []*command{
		{name: "cluster members", method: "cluster.members",
			summary: "the cluster's nodes: address, version, modules, age (* marks the node the CLI reached)",
			run:     simple("cluster.members", noParams, renderMembers)},
		{name: "cluster status", method: "daemon.status",
			summary: "every node's daemon.status (version, pid, uptime, actor tree), by node",
			run:     simple("daemon.status", clusterStatusParams, renderGeneric)},
	}
}

func clusterStatusParams([]string, flagSet) (any, error) { return map[string]any{"cluster": true}, nil }

// renderMembers prints cluster.members as a table.
func renderMembers(w io.Writer, res json.RawMessage) error {
	var r struct {
		Self       string `json:"self"`
		Registered bool   `json:"registered"`
		Members    []struct {
			Node    string    `json:"node"`
			Address string    `json:"address"`
			Version string    `json:"version"`
			Modules []string  `json:"modules"`
			Running []string  `json:"running"`
			Leads   []string  `json:"leads"`
			Joined  time.Time `json:"joined"`
			Load    *struct {
				Goroutines int32       `json:"goroutines"`
				RSS        json.Number `json:"rss_bytes"`
				CPU        float64     `json:"cpu_percent"`
			} `json:"load"`
		} `json:"members"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	tw := newTable(w)
	fprintln(tw, "\tNODE\tADDRESS\tVERSION\tLEADS\tMODULES (running)\tAGE\tCPU\tRSS")
	for _, m := range r.Members {
		mark := ""
		if m.Node == r.Self {
			mark = "*"
		}
		mods := make([]string, 0, len(m.Modules))
		for _, name := range m.Modules {
			if contains(m.Running, name) {
				name += "*"
			}
			mods = append(mods, name)
		}
		age, cpu, rss := "-", "-", "-"
		if !m.Joined.IsZero() {
			age = seconds(time.Since(m.Joined).Seconds())
		}
		if m.Load != nil {
			cpu, rss = strconv.FormatFloat(m.Load.CPU, 'f', 1, 64)+"%", humanBytes(m.Load.RSS.String())
		}
		fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, m.Node, orDash(m.Address), orDash(m.Version),
			orDash(strings.Join(m.Leads, ",")), orDash(strings.Join(mods, ",")), age, cpu, rss)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !r.Registered {
		_, err := fmt.Fprintln(w, "this node is not registered in etcd (etcd unreachable?): the list may be stale")
		return err
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// withNode adds the node param of --node to a call's params: named
// params only.
func withNode(params any, node string) (any, error) {
	b, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	obj := map[string]json.RawMessage{}
	if string(b) != "null" {
		if err := json.Unmarshal(b, &obj); err != nil {
			return nil, usagef("--node: this command's params are not named, so they cannot name a node")
		}
	}
	q, _ := json.Marshal(node)
	obj["node"] = q
	return obj, nil
}
