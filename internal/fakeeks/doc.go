// Package fakeeks is a small fake of the AWS EKS and STS APIs for tests and
// the demo. It speaks their wire protocols, so the real AWS SDK is its
// client: EKS DescribeCluster, ListNodegroups, DescribeNodegroup,
// ListAddons, DescribeAddon, DescribeAddonVersions, ListInsights and
// DescribeInsight (REST-JSON) and STS AssumeRole (query protocol, XML
// answers). It checks every request's Signature Version 4 and records which
// role's credentials signed it, so a test can prove that each tenant's
// account was read as that tenant's role. Its owner sets clusters, upgrades
// them and deletes them (DELETING, then gone). It keeps clusters, and the add-on
// catalogue DescribeAddonVersions answers for every account, in memory and
// never talks to AWS.
package fakeeks
