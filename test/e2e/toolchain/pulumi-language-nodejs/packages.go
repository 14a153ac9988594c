package main

// What the program depends on: the Pulumi packages and plugins its installed npm packages declare.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

type npmPackageJSON struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Dependencies map[string]string `json:"dependencies"`
	Pulumi       *struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*npmPackageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p npmPackageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// findNodeModules returns the node_modules directory that Node.js would use for
// a program in dir: the nearest one walking up the directory tree.
func findNodeModules(dir string) (string, error) {
	for d := dir; ; {
		nm := filepath.Join(d, "node_modules")
		if st, err := os.Stat(nm); err == nil && st.IsDir() {
			return nm, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no node_modules directory found above %s; have you run `npm install`?", dir)
		}
		d = parent
	}
}

// pulumiPackages walks node_modules (including nested node_modules) and returns
// the resource plugins declared in `"pulumi": {"resource": true, ...}` fields.
func pulumiPackages(programDir string) ([]*pulumirpc.PackageDependency, error) {
	nm, err := findNodeModules(programDir)
	if err != nil {
		return nil, err
	}
	seen := map[string]*pulumirpc.PackageDependency{}
	visited := map[string]bool{}
	var walk func(nodeModules string, depth int) error
	walk = func(nodeModules string, depth int) error {
		real, err := filepath.EvalSymlinks(nodeModules)
		if err != nil || visited[real] || depth > 8 {
			return nil
		}
		visited[real] = true
		entries, err := os.ReadDir(nodeModules)
		if err != nil {
			return nil
		}
		var pkgDirs []string
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			if strings.HasPrefix(name, "@") {
				scoped, _ := os.ReadDir(filepath.Join(nodeModules, name))
				for _, s := range scoped {
					pkgDirs = append(pkgDirs, filepath.Join(nodeModules, name, s.Name()))
				}
				continue
			}
			pkgDirs = append(pkgDirs, filepath.Join(nodeModules, name))
		}
		for _, dir := range pkgDirs {
			p, err := readPackageJSON(filepath.Join(dir, "package.json"))
			if err == nil && p.Pulumi != nil && p.Pulumi.Resource {
				name := p.Pulumi.Name
				if name == "" {
					name = strings.TrimPrefix(p.Name, "@pulumi/")
				}
				v := p.Pulumi.Version
				if v == "" {
					v = p.Version
				}
				if v != "" && !strings.HasPrefix(v, "v") {
					v = "v" + v
				}
				key := name + "@" + v
				if _, ok := seen[key]; !ok {
					seen[key] = &pulumirpc.PackageDependency{
						Name: name, Kind: "resource", Version: v, Server: p.Pulumi.Server,
					}
				}
			}
			if err := walk(filepath.Join(dir, "node_modules"), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(nm, 0); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*pulumirpc.PackageDependency, 0, len(keys))
	for _, k := range keys {
		out = append(out, seen[k])
	}
	return out, nil
}

// GetRequiredPackages lists the Pulumi packages the program depends on (gRPC ignores the response with an error).
func (h *nodeHost) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := pulumiPackages(req.GetInfo().GetProgramDirectory())
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, err
}

// GetRequiredPlugins answers the older form of GetRequiredPackages, which engines still ask.
func (h *nodeHost) GetRequiredPlugins(
	ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	required, err := h.GetRequiredPackages(ctx, &pulumirpc.GetRequiredPackagesRequest{Info: req.GetInfo()})
	pkgs := required.GetPackages()
	plugins := make([]*pulumirpc.PluginDependency, 0, len(pkgs))
	for _, p := range pkgs {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server,
		})
	}
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func (h *nodeHost) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	p, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	nm, _ := findNodeModules(dir)
	names := make([]string, 0, len(p.Dependencies))
	for n := range p.Dependencies {
		names = append(names, n)
	}
	sort.Strings(names)
	var deps []*pulumirpc.DependencyInfo
	for _, n := range names {
		v := p.Dependencies[n]
		if nm != "" {
			if installed, err := readPackageJSON(filepath.Join(nm, n, "package.json")); err == nil {
				v = installed.Version
			}
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: n, Version: v})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}
