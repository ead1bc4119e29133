import { Match, Template } from 'aws-cdk-lib/assertions';
import { DeployConfig, parseDeployConfig } from '../../src/contracts/endpoint-deploy-config';

/** The deploy function's configuration, with tokens rendered as their CloudFormation JSON. */
export function deployConfig(template: Template): DeployConfig {
  const fns = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { DEPLOY_CONFIG: Match.anyValue() } } } });
  const value = (Object.values(fns)[0] as any).Properties.Environment.Variables.DEPLOY_CONFIG;
  const text = typeof value === 'string' ? value : value['Fn::Join'][1].map((part: unknown) => (typeof part === 'string' ? part : JSON.stringify(part).replace(/"/g, "'"))).join('');
  return parseDeployConfig(text);
}

/** Every statement of the identity policies attached to roles whose logical ids start with `rolePrefix`. */
export function roleStatements(template: Template, rolePrefix: string): any[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp(`^${rolePrefix}`) }] },
  });
  return Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}
