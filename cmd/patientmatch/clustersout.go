package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/patientmatch/patientmatch/scoring"
)

// writeClusters writes the clusters file: every record once, in input
// order, with its cluster number, and in the csv and ndjson formats the
// number of records in its cluster.
func writeClusters(env *cliEnv, path, format string, recs []*scoring.Prepared, c []int32) error {
	out, err := createOutput(env, path)
	if err != nil {
		return err
	}
	defer out.abort()
	bw := bufio.NewWriterSize(out, 256<<10)
	size := sizesOf(c)
	if format == outputNDJSON {
		err = writeClustersNDJSON(bw, recs, c, size)
	} else {
		err = writeClustersCSV(bw, format == outputCSV, recs, c, size)
	}
	if err = errors.Join(err, bw.Flush()); err != nil {
		return err
	}
	return out.commit()
}

func writeClustersCSV(w io.Writer, withSize bool, recs []*scoring.Prepared, c []int32, size map[int32]int) error {
	cw := csv.NewWriter(w)
	head := []string{"id", "cluster_id"}
	if withSize {
		head = append(head, "cluster_size")
	}
	err := cw.Write(head)
	row := make([]string, len(head))
	for i := 0; i < len(recs) && err == nil; i++ {
		row[0], row[1] = recs[i].Rec.ID, strconv.Itoa(int(c[i]))
		if withSize {
			row[2] = strconv.Itoa(size[c[i]])
		}
		err = cw.Write(row)
	}
	cw.Flush()
	return errors.Join(err, cw.Error())
}

func writeClustersNDJSON(w io.Writer, recs []*scoring.Prepared, c []int32, size map[int32]int) error {
	enc := json.NewEncoder(w)
	for i := range recs {
		err := enc.Encode(struct {
			ID          string `json:"id"`
			ClusterID   int32  `json:"cluster_id"`
			ClusterSize int    `json:"cluster_size"`
		}{recs[i].Rec.ID, c[i], size[c[i]]})
		if err != nil {
			return err
		}
	}
	return nil
}

// sizesOf counts the records of each cluster.
func sizesOf(c []int32) map[int32]int {
	size := map[int32]int{}
	for _, k := range c {
		size[k]++
	}
	return size
}

// clusterSizes sums up a clustering for the summary line: "812 clusters
// (41 of two or more records; 771 of size 1, 35 of size 2, 6 of size 3;
// largest 3)".
func clusterSizes(c []int32) string {
	size := sizesOf(c)
	bySize := map[int]int{}
	multi := 0
	for _, n := range size {
		bySize[n]++
		if n > 1 {
			multi++
		}
	}
	sizes := make([]int, 0, len(bySize))
	for n := range bySize {
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	parts := make([]string, 0, len(sizes))
	for i, n := range sizes {
		if i == 6 && len(sizes) > 7 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%d of size %d", bySize[n], n))
	}
	largest := 0
	if len(sizes) > 0 {
		largest = sizes[len(sizes)-1]
	}
	return fmt.Sprintf("%d clusters (%d of two or more records; %s; largest %d)", len(size), multi, strings.Join(parts, ", "), largest)
}
