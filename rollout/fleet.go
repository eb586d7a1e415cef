package rollout

// Fleet is the planner's view of the inventory: every cluster the bot knows,
// the campaigns holding clusters, and the scalars a field change matched. The
// inventory (package gitops) fills it in; the planner never reads a file.
type Fleet struct {
	// Clusters lists every cluster of the fleet, selected or not. Names are
	// unique across the fleet. The order does not matter.
	Clusters []Cluster
	// Locks maps a cluster name to the campaign holding it. A lock held by the
	// campaign being planned does not count.
	Locks map[string]string
	// Fields holds the scalars matched by a field change's glob and key path.
	// It is empty for other kinds of change.
	Fields []FieldHit
}

// Cluster is one EKS cluster as the files describe it.
type Cluster struct {
	Name   string
	Tenant string
	Env    string
	Fleet  string // the class of cluster: cpu, gpu, ...
	Region string
	Repo   string // the repository holding the tenant's blueprint
	Canary bool   // is_canary in the blueprint
	// Disabled is true when the fleet files switch the cluster off
	// (enabled: false on its entry or on its service); DisabledAt says
	// where (nil when not known, and for a cluster not disabled: a fleet of
	// 100,000 clusters holds no empty location for each). The planner never
	// changes a disabled cluster.
	Disabled   bool
	DisabledAt *Location

	// Version is the EKS control-plane version the blueprint asks for, as
	// written ("1.29"). VersionAt says where it is written.
	Version   string
	VersionAt Location

	// Labels are the cluster's effective fleet-secret labels; the selector
	// matches them.
	Labels map[string]string
	// LabelChain lists the label files that apply to the cluster, from the most
	// general to the most specific, whether they exist or not. The last entry
	// is the cluster's own file. Label changes need it; other changes do not.
	LabelChain []LabelLevel
	// Chain lists, the same way, the files of the hierarchy a field change
	// names (FieldChange.Hierarchy), each file's value of the field under
	// the field's path as written in the campaign (FieldChange.Path). Only
	// such a change needs it.
	Chain []LabelLevel
	// BlueGreen says how the cluster is replaced blue-green, when the layout
	// says how (nil otherwise).
	BlueGreen *Replacement
}

// Replacement is what replacing a cluster blue-green needs: a green cluster
// is added to the blueprint as a copy of the blue one's entry, traffic moves
// to it in steps through the scalar of each entry, then the blue entry is
// removed.
type Replacement struct {
	// Green is the green cluster's name, from the layout's template.
	Green string
	// Entry is the cluster's entry in its blueprint: its key path (such as
	// services.eks.config.a-prod-cpu-1) and the line of its key.
	Entry Location
	// Copy names the keys of the entry the green entry copies; empty: every
	// key. Clusters of one layout share it: read it, never change it.
	Copy []string
	// Traffic is the cluster's share of traffic as written (a whole number);
	// empty when its entry has none. TrafficAt says where it is (File empty
	// when the entry has none).
	Traffic   string
	TrafficAt Location
	// GreenLabels is the green cluster's own label file: the label
	// hierarchy's most specific level of one cluster's own files (its
	// template names the cluster) rendered for Green. It is empty when the
	// layout has no label hierarchy or no such level.
	GreenLabels string
	// BlueLabels is the cluster's own label file when it exists: it is
	// copied to GreenLabels, and removed with the cluster.
	BlueLabels string
	// Values are the cluster's own files of the layout's other hierarchies
	// (an add-on's values at the level of one cluster) that exist, by
	// hierarchy: each is copied to its Green path, and removed with the
	// cluster, as its own label file is.
	Values []OwnFile
}

// ownFiles returns the blue cluster's own files that go with it: its own
// label file when it exists (with GreenLabels, where the green's goes),
// then Values.
func (r *Replacement) ownFiles() []OwnFile {
	if r.BlueLabels == "" {
		return r.Values
	}
	return append([]OwnFile{{Hierarchy: "labels", Blue: r.BlueLabels, Green: r.GreenLabels}}, r.Values...)
}

// OwnFile is a cluster's own file of a hierarchy (the most specific level
// of one cluster's files), and where the green cluster that replaces it
// has its own.
type OwnFile struct {
	Hierarchy string
	Blue      string
	Green     string
}

// Location is a scalar's place: repository, file, key path inside the file,
// and the 1-based line of the key (0 when unknown). Document is the index of
// the YAML document holding it, counted from 0 in the file's stream (a
// fleet-member file may list one cluster per document).
type Location struct {
	Repo     string
	File     string
	Path     []string
	Line     int
	Document int
}

// LabelLevel is one file of a cluster's label hierarchy.
type LabelLevel struct {
	Repo string
	File string
	// Scope names the level: "global", "tenant", "env", "cluster" or a name
	// the layout gives ("fleet", "record.version": a file serving the
	// clusters with one value). A campaign's level picks the file by it.
	Scope string
	// Shared marks a file used by every tenant (the global defaults): only
	// fleet admins change it, in a pull request of its own.
	Shared bool
	// Exists is false when the file is not in the repository yet.
	Exists bool
	// Labels holds the labels the file sets (under the labels key path).
	Labels map[string]string
	// Lines gives the 1-based line of each label key in the file.
	Lines map[string]int
}

// FieldHit is one scalar matched by a field change.
type FieldHit struct {
	At    Location
	Value string
	// Tenant owns the file; an empty tenant means a file shared by all tenants.
	Tenant string
	// Env is set when the file belongs to one environment of the tenant (a
	// blueprint is per tenant and environment), or, with Tenant empty, to one
	// environment of every tenant.
	Env string
	// Cluster is set when the scalar belongs to one cluster (a key under the
	// cluster's entry in a blueprint, the cluster's fleet-member file, or a
	// cluster-level file).
	Cluster string
	// Reach names, sorted, every cluster the scalar's file serves: the one
	// cluster of a cluster-level file or of a key under a cluster's entry,
	// the clusters of a tenant, of a tenant's environment, of an
	// environment (an environment-wide file has Env set and Tenant empty),
	// of a record value (one Kubernetes version), or of the whole fleet. It
	// is empty for a file nothing in the layout gives an owner: such a file
	// is shared by all tenants.
	Reach []string
}
