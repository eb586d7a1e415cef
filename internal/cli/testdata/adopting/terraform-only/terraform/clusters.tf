# Every EKS cluster of the fleet, and the labels of its Argo CD cluster
# secret. Nothing else in the repository describes the clusters.
variable "clusters" {
  type = map(object({
    tenant  = string
    env     = string
    region  = string
    account = string
    version = string
    fleet   = string
    canary  = bool
  }))
}

module "eks" {
  source   = "terraform-aws-modules/eks/aws"
  version  = "~> 20.0"
  for_each = var.clusters

  cluster_name    = each.key
  cluster_version = each.value.version
}

output "clusters" {
  value = [for name, c in var.clusters : merge(c, {
    name     = name
    endpoint = module.eks[name].cluster_endpoint
  })]
}

output "hub_endpoint" {
  value = module.eks["hub"].cluster_endpoint
}
