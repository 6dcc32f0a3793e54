// Command grpcurlshim answers the grpcurl command lines of the README
// examples on machines without grpcurl (the reference image has none and
// the docs test must not download it): list, describe and unary or
// streaming calls with -plaintext, -d (one or more JSON messages) and -H.
// It resolves services from the descriptors compiled into this binary
// (patientmatch.v1, grpc.health.v1) and lists them through the server's
// reflection service, and prints answers and errors in grpcurl's layout.
// The docs test (internal/docstest) builds it as "grpcurl" when the real one
// is not on PATH; it is not shipped.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	_ "google.golang.org/genproto/googleapis/rpc/errdetails" // BadRequest details print by name
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	_ "google.golang.org/grpc/health/grpc_health_v1" // grpc.health.v1 descriptors
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	_ "github.com/patientmatch/patientmatch/api/patientmatch/v1" // patientmatch.v1 descriptors
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// headers collects repeated -H flags.
type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("grpcurl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	plaintext := fs.Bool("plaintext", false, "no TLS")
	data := fs.String("d", "", "request JSON (one or more messages)")
	var hdrs headers
	fs.Var(&hdrs, "H", "header NAME: VALUE")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if !*plaintext || len(rest) < 2 {
		fmt.Fprintln(stderr, "grpcurlshim: usage: grpcurl -plaintext [-d JSON] [-H 'k: v'] ADDR list|describe SYMBOL|SERVICE/METHOD")
		return 2
	}
	conn, err := grpc.NewClient(rest[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintf(stderr, "Failed to dial target host %q: %v\n", rest[0], err)
		return 1
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, h := range hdrs {
		k, v, _ := strings.Cut(h, ":")
		ctx = metadata.AppendToOutgoingContext(ctx, strings.TrimSpace(k), strings.TrimSpace(v))
	}
	switch rest[1] {
	case "list":
		err = list(ctx, conn, stdout)
	case "describe":
		if len(rest) < 3 {
			fmt.Fprintln(stderr, "grpcurlshim: describe needs a symbol")
			return 2
		}
		err = describe(ctx, conn, rest[2], stdout)
	default:
		err = invoke(ctx, conn, rest[1], *data, stdout)
	}
	if err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}

// list prints the services the server's reflection service names.
func list(ctx context.Context, conn *grpc.ClientConn, w io.Writer) error {
	resp, err := reflect(ctx, conn, &rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	if err != nil {
		return err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(w, n)
	}
	return nil
}

// describe asks the server's reflection service for the file defining
// symbol and prints the symbol as this binary's descriptors define it.
func describe(ctx context.Context, conn *grpc.ClientConn, symbol string, w io.Writer) error {
	resp, err := reflect(ctx, conn, &rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: symbol}})
	if err != nil {
		return err
	}
	if e := resp.GetErrorResponse(); e != nil {
		return status.Error(codeOf(e.GetErrorCode()), e.GetErrorMessage())
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(symbol))
	if err != nil {
		return fmt.Errorf("symbol %q: %w", symbol, err)
	}
	switch d := d.(type) {
	case protoreflect.ServiceDescriptor:
		fmt.Fprintf(w, "%s is a service:\nservice %s {\n", symbol, d.Name())
		for i := range d.Methods().Len() {
			m := d.Methods().Get(i)
			fmt.Fprintf(w, "  rpc %s ( %s ) returns ( %s );\n", m.Name(), m.Input().FullName(), m.Output().FullName())
		}
	case protoreflect.MessageDescriptor:
		fmt.Fprintf(w, "%s is a message:\nmessage %s {\n", symbol, d.Name())
		for i := range d.Fields().Len() {
			f := d.Fields().Get(i)
			fmt.Fprintf(w, "  %s %s = %d;\n", f.Kind(), f.Name(), f.Number())
		}
	default:
		fmt.Fprintf(w, "%s is a %T\n{\n", symbol, d)
	}
	fmt.Fprintln(w, "}")
	return nil
}

func codeOf(c int32) codes.Code { return codes.Code(c) }

// reflect sends one request on the server reflection stream.
func reflect(ctx context.Context, conn *grpc.ClientConn, req *rpb.ServerReflectionRequest) (*rpb.ServerReflectionResponse, error) {
	st, err := rpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(req); err != nil {
		return nil, err
	}
	resp, err := st.Recv()
	_ = st.CloseSend()
	return resp, err
}

// invoke calls SERVICE/METHOD with the JSON messages of data.
func invoke(ctx context.Context, conn *grpc.ClientConn, method, data string, w io.Writer) error {
	svc, name, ok := strings.Cut(method, "/")
	if !ok {
		return fmt.Errorf("%q is not SERVICE/METHOD", method)
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
	if err != nil {
		return fmt.Errorf("service %q: %w", svc, err)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return fmt.Errorf("%q is not a service", svc)
	}
	md := sd.Methods().ByName(protoreflect.Name(name))
	if md == nil {
		return fmt.Errorf("service %q has no method %q", svc, name)
	}
	reqs, err := requests(md.Input(), data)
	if err != nil {
		return err
	}
	full := "/" + svc + "/" + name
	if !md.IsStreamingClient() && !md.IsStreamingServer() {
		if len(reqs) != 1 {
			return fmt.Errorf("a unary method takes one request message, got %d", len(reqs))
		}
		out := dynamicpb.NewMessage(md.Output())
		if err := conn.Invoke(ctx, full, reqs[0], out); err != nil {
			return err
		}
		return printMessage(w, out)
	}
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: md.IsStreamingServer(), ClientStreams: md.IsStreamingClient()}, full)
	if err != nil {
		return err
	}
	for _, r := range reqs {
		if err := st.SendMsg(r); err != nil {
			return err
		}
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	for {
		out := dynamicpb.NewMessage(md.Output())
		err := st.RecvMsg(out)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := printMessage(w, out); err != nil {
			return err
		}
	}
}

// requests reads the JSON messages of data (none means one empty message).
func requests(in protoreflect.MessageDescriptor, data string) ([]proto.Message, error) {
	if strings.TrimSpace(data) == "" {
		return []proto.Message{dynamicpb.NewMessage(in)}, nil
	}
	dec := json.NewDecoder(strings.NewReader(data))
	var out []proto.Message
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("request JSON: %w", err)
		}
		m := dynamicpb.NewMessage(in)
		if err := protojson.Unmarshal(raw, m); err != nil {
			return nil, fmt.Errorf("request JSON: %w", err)
		}
		out = append(out, m)
	}
}

func printMessage(w io.Writer, m proto.Message) error {
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// printError prints err as grpcurl does: code, message, details.
func printError(w io.Writer, err error) {
	st, ok := status.FromError(err)
	if !ok {
		fmt.Fprintf(w, "Error invoking method: %v\n", err)
		return
	}
	fmt.Fprintf(w, "ERROR:\n  Code: %s\n  Message: %s\n", st.Code(), st.Message())
	if details := st.Proto().GetDetails(); len(details) > 0 {
		fmt.Fprintln(w, "  Details:")
		for i, d := range details {
			b, err := protojson.Marshal(d)
			if err != nil {
				b = []byte(d.GetTypeUrl())
			}
			fmt.Fprintf(w, "  %d)\t%s\n", i+1, b)
		}
	}
}
