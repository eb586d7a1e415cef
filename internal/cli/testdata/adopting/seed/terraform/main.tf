# One EKS cluster per entry of the tenant blueprints.
locals {
  blueprint = yamldecode(file("${path.module}/../tenants/${var.tenant}/${var.env}.yaml"))
  clusters  = local.blueprint.services.eks.enabled ? local.blueprint.services.eks.config : {}
}

module "eks" {
  source   = "terraform-aws-modules/eks/aws"
  version  = "~> 20.0"
  for_each = local.clusters

  cluster_name    = each.key
  cluster_version = each.value.version
}
