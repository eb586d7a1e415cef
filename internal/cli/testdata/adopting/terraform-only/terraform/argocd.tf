# The Argo CD cluster secret of each cluster, with the labels the
# ApplicationSets select on.
resource "kubernetes_secret_v1" "cluster" {
  for_each = var.clusters

  metadata {
    name      = each.key
    namespace = "argocd"
    labels = {
      "argocd.argoproj.io/secret-type" = "cluster"
      tenant                           = each.value.tenant
      environment                      = each.value.env
      kubernetes_version               = each.value.version
      fleet                            = each.value.fleet
      canary                           = tostring(each.value.canary)
    }
    annotations = {
      aws_region     = each.value.region
      aws_account_id = each.value.account
    }
  }
  data = {
    name   = each.key
    server = module.eks[each.key].cluster_endpoint
  }
}
