package cluster

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbedOptions configure an embedded NATS server (serve --cluster-embed,
// and the tests' three-server clusters).
type EmbedOptions struct {
	// Addr is the client listen address, host:port (port 0 picks one).
	Addr string
	// StoreDir is where JetStream keeps its streams. Required.
	StoreDir string
	// Name is the server's name, unique in its cluster. Default: derived
	// from Addr.
	Name string
	// ClusterName names the NATS cluster. Default "patientmatch".
	ClusterName string
	// ClusterAddr, when set, is the route listen address: the server forms
	// a NATS cluster with Routes. Empty: a standalone server.
	ClusterAddr string
	// Routes are the route URLs (nats-route://host:port) of the cluster's
	// other servers.
	Routes []string
	// Logs turns on the server's own log on stderr. Default off.
	Logs bool
}

// Server is an embedded NATS server with JetStream.
type Server struct {
	ns *server.Server
}

// Embed starts a NATS server with JetStream in this process and waits
// until it accepts connections.
func Embed(o EmbedOptions) (*Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("cluster: embed: StoreDir is required")
	}
	host, port, err := splitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: embed: address %q: %w", o.Addr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT // the server's 0 means its default, 4222
	}
	so := &server.Options{
		Host: host, Port: port,
		ServerName: o.Name,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
		NoLog:      !o.Logs,
	}
	if so.ServerName == "" {
		so.ServerName = "pm-" + net.JoinHostPort(host, strconv.Itoa(port))
	}
	if o.ClusterAddr != "" {
		ch, cp, err := splitHostPort(o.ClusterAddr)
		if err != nil {
			return nil, fmt.Errorf("cluster: embed: cluster address %q: %w", o.ClusterAddr, err)
		}
		so.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: ch, Port: cp}
		if so.Cluster.Name == "" {
			so.Cluster.Name = "patientmatch"
		}
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("cluster: embed: route %q: %w", r, err)
			}
			so.Routes = append(so.Routes, u)
		}
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("cluster: embed: %w", err)
	}
	if o.Logs {
		ns.ConfigureLogger()
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("cluster: embed: the NATS server did not start within 30s")
	}
	return &Server{ns: ns}, nil
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	return h, n, nil
}

// ClientURL is the nats:// URL clients connect to.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Close stops the server and waits until it has.
func (s *Server) Close() error {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	return nil
}
