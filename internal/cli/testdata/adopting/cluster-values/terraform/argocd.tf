# The Argo CD cluster secret of each cluster, from its values file under
# clusters/: the labels the ApplicationSets select on, and the annotations.
locals {
  cluster_files = fileset("${path.module}/../clusters", "*/cluster.yaml")
  cluster_values = {
    for f in local.cluster_files : dirname(f) => yamldecode(file("${path.module}/../clusters/${f}"))
  }
}

resource "kubernetes_secret_v1" "cluster" {
  for_each = local.cluster_values

  metadata {
    name        = each.value.cluster_name
    namespace   = "argocd"
    labels      = merge(each.value.labels, { "argocd.argoproj.io/secret-type" = "cluster" })
    annotations = each.value.annotations
  }
  data = {
    name   = each.value.cluster_name
    server = module.eks[each.key].cluster_endpoint
  }
}
