// AWS WAF in front of the public ALB: a rate limit per client address (so one address cannot flood the
// API's auth and database path) and the AWS managed common rule set. Both run before any request reaches
// a task. Two rules of the common set are counted, not enforced: the body-size rule (a lab's nightly upload
// is ~300 KB, far above its 8 KB limit, and the API enforces its own limits with a problem+json answer) and
// the no-User-Agent rule (devices of the legacy service may send none, and they authenticate with keys).
import * as wafv2 from 'aws-cdk-lib/aws-wafv2'
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2'
import { Construct } from 'constructs'

export interface AlbWafProps {
  loadBalancer: elbv2.IApplicationLoadBalancer
  /** Metric-name prefix, e.g. labclimate-prod. */
  name: string
  /** Requests one client address may send in any 5-minute window before WAF answers 403. */
  requestsPerAddressPer5Min: number
}

export const RATE_RULE = 'RatePerClientAddress'
export const COMMON_RULE = 'AWSManagedRulesCommonRuleSet'
/** Rules of the common set that would block legitimate devices: counted (visible in metrics) instead. */
export const COUNTED_COMMON_RULES = ['SizeRestrictions_BODY', 'NoUserAgent_HEADER']

export class AlbWaf extends Construct {
  readonly webAcl: wafv2.CfnWebACL

  constructor (scope: Construct, id: string, props: AlbWafProps) {
    super(scope, id)
    const visibility = (metric: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: `${props.name}-${metric}`,
      sampledRequestsEnabled: true
    })
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: `${props.name}: per-address rate limit and AWS common rules in front of the ALB`,
      defaultAction: { allow: {} },
      visibilityConfig: visibility('waf'),
      rules: [
        {
          // First and cheapest: the address is the TCP peer the ALB sees, which a client cannot forge.
          name: RATE_RULE,
          priority: 0,
          action: { block: {} },
          statement: { rateBasedStatement: { aggregateKeyType: 'IP', limit: props.requestsPerAddressPer5Min, evaluationWindowSec: 300 } },
          visibilityConfig: visibility(RATE_RULE)
        },
        {
          name: COMMON_RULE,
          priority: 1,
          overrideAction: { none: {} },
          statement: {
            managedRuleGroupStatement: {
              vendorName: 'AWS',
              name: COMMON_RULE,
              ruleActionOverrides: COUNTED_COMMON_RULES.map((name) => ({ name, actionToUse: { count: {} } }))
            }
          },
          visibilityConfig: visibility(COMMON_RULE)
        }
      ]
    })
    new wafv2.CfnWebACLAssociation(this, 'Association', { resourceArn: props.loadBalancer.loadBalancerArn, webAclArn: this.webAcl.attrArn })
  }
}
