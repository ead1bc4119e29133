import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { WebFrontend, WebFrontendProps } from '../../src/web-frontend';
import { addNagChecks, nagFindings } from '../support/nag';

const API_URL = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/';

function build(props: Partial<WebFrontendProps> = {}): { stack: Stack; web: WebFrontend; template: Template } {
  const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  addNagChecks(stack);
  const web = new WebFrontend(stack, 'Web', { apiUrl: API_URL, ...props });
  return { stack, web, template: Template.fromStack(stack) };
}

function distributionConfig(template: Template): any {
  const distributions = Object.values(template.findResources('AWS::CloudFront::Distribution'));
  expect(distributions).toHaveLength(1);
  return (distributions[0] as any).Properties.DistributionConfig;
}

/** The props the distribution was created with, as aws-cdk-lib's construct metadata records them. */
function distributionProps(web: WebFrontend): { [prop: string]: unknown } {
  const entry = web.distribution.node.metadata.find((m) => m.type === 'aws:cdk:analytics:construct');
  expect(entry).toBeDefined();
  return entry!.data;
}

describe('WebFrontend secure defaults', () => {
  const { stack, web, template } = build();

  test('the site bucket is private, encrypted and SSL-only, reached through origin access control', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LoggingConfiguration: { LogFilePrefix: 'site-bucket/', DestinationBucketName: Match.anyValue() },
    });
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    const config = distributionConfig(template);
    expect(config.Origins[0].OriginAccessControlId).toBeDefined();
    expect(config.Origins[0].S3OriginConfig.OriginAccessIdentity).toBe('');
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Allow',
          Action: 's3:GetObject',
          Principal: { Service: 'cloudfront.amazonaws.com' },
          Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
        })]),
      },
    });
  });

  test('HTTPS only, modern protocols, cheapest price class, access logs', () => {
    const config = distributionConfig(template);
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.PriceClass).toBe('PriceClass_100');
    expect(config.HttpVersion).toBe('http2and3');
    expect(config.Logging).toEqual({ Bucket: { 'Fn::GetAtt': [expect.stringMatching(/LogBucket/), 'RegionalDomainName'] }, Prefix: 'cloudfront/' });
    expect(config.DefaultRootObject).toBe('index.html');
  });

  test('uses CloudFront\'s default certificate and sets no security policy, which would have no effect on it', () => {
    const config = distributionConfig(template);
    expect(config.ViewerCertificate).toBeUndefined();
    // aws-cdk-lib records the props a construct was given when additional metadata collection is on.
    const app = new App({ context: { '@aws-cdk/core:enableAdditionalMetadataCollection': true } });
    const recorded = distributionProps(new WebFrontend(new Stack(app, 'Props'), 'Web', { apiUrl: API_URL }));
    expect(recorded).toHaveProperty('priceClass', 'PriceClass_100');
    expect(recorded).not.toHaveProperty('minimumProtocolVersion');
  });

  test('client-side routes fall back to index.html', () => {
    const config = distributionConfig(template);
    expect(config.CustomErrorResponses).toEqual([
      { ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 300 },
      { ErrorCode: 404, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 300 },
    ]);
  });

  test('config.json is never cached', () => {
    const config = distributionConfig(template);
    const behavior = config.CacheBehaviors.find((b: any) => b.PathPattern === '/config.json');
    expect(behavior.CachePolicyId).toBe('4135ea2d-6df8-44a3-9df3-4b5a84be39ad'); // CachingDisabled
  });

  test('security headers: a CSP that allows only the API origin, HSTS, no framing', () => {
    const policies = template.findResources('AWS::CloudFront::ResponseHeadersPolicy');
    const config = (Object.values(policies)[0] as any).Properties.ResponseHeadersPolicyConfig;
    const csp = JSON.stringify(stack.resolve(config.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy));
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self' https://abc123.execute-api.eu-west-1.amazonaws.com");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('*');
    expect(config.SecurityHeadersConfig.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true });
    expect(config.SecurityHeadersConfig.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(config.SecurityHeadersConfig.ContentTypeOptions).toEqual({ Override: true });
  });

  test('an explicit apiOrigin is what the CSP allows', () => {
    const { stack: s, template: t } = build({ apiOrigin: 'https://api.example.com' });
    const config = (Object.values(t.findResources('AWS::CloudFront::ResponseHeadersPolicy'))[0] as any).Properties.ResponseHeadersPolicyConfig;
    expect(JSON.stringify(s.resolve(config.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy))).toContain("connect-src 'self' https://api.example.com;");
  });

  test('deploys the built app plus a JSON-escaped config.json, and invalidates the cache', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      SourceObjectKeys: [Match.stringLikeRegexp('\\.zip$'), Match.stringLikeRegexp('\\.zip$')],
      SourceMarkersConfig: [{}, { jsonEscape: true }],
      DistributionPaths: ['/*'],
      Prune: true,
    });
  });

  test('an API URL known only at deploy time reaches config.json through a deploy-time marker', () => {
    const tokenStack = new Stack(new App(), 'Tokens');
    new WebFrontend(tokenStack, 'Web', { apiUrl: Fn.importValue('AbaloneApiUrl') });
    const deployment = Object.values(Template.fromStack(tokenStack).findResources('Custom::CDKBucketDeployment'))[0] as any;
    const markers = Object.values(deployment.Properties.SourceMarkers[1]);
    expect(markers).toHaveLength(1);
    expect(JSON.stringify(markers[0])).toContain('{"Fn::ImportValue":"AbaloneApiUrl"}');
  });

  test('exposes the site URL', () => {
    expect(stack.resolve(web.siteUrl)).toEqual({
      'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.stringMatching(/Distribution/), 'DomainName'] }]],
    });
  });

  test('cdk-nag AwsSolutions finds nothing unacknowledged', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('WebFrontend options', () => {
  test('a custom domain with its certificate and a web ACL', () => {
    const stack = new Stack(new App(), 'Test', { env: { account: '111111111111', region: 'us-east-1' } });
    addNagChecks(stack);
    const certificate = acm.Certificate.fromCertificateArn(stack, 'Cert', 'arn:aws:acm:us-east-1:111111111111:certificate/abc');
    new WebFrontend(stack, 'Web', {
      apiUrl: API_URL,
      domainNames: ['abalone.example.com'],
      certificate,
      webAclId: 'arn:aws:wafv2:us-east-1:111111111111:global/webacl/abalone/123',
      priceClass: cloudfront.PriceClass.PRICE_CLASS_ALL,
      feedbackEnabled: false,
    });
    const template = Template.fromStack(stack);
    const config = distributionConfig(template);
    expect(config.Aliases).toEqual(['abalone.example.com']);
    expect(config.ViewerCertificate).toMatchObject({ MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
    expect(Annotations.fromStack(stack).findWarning('*', Match.not(Match.stringLikeRegexp('^AwsSolutions-')))).toEqual([]);
    expect(config.WebACLId).toBe('arn:aws:wafv2:us-east-1:111111111111:global/webacl/abalone/123');
    expect(config.PriceClass).toBe('PriceClass_All');
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('WebFrontend prop validation', () => {
  const cases: Array<[string, Partial<WebFrontendProps>, RegExp]> = [
    ['a relative apiUrl', { apiUrl: '/prod/' }, /apiUrl is "\/prod\/"/],
    ['domainNames without certificate', { domainNames: ['a.example.com'] }, /domainNames is a.example.com; domainNames and certificate go together/],
    ['empty domainNames', { domainNames: [], certificate: {} as acm.ICertificate }, /domainNames is ; it must name at least one domain/],
    ['an apiOrigin with a path', { apiOrigin: 'https://abc.example.com/prod' }, /apiOrigin is "https:\/\/abc.example.com\/prod"/],
    ['a regional web ACL', { webAclId: 'arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/x/1' }, /webAclId is .*scope CLOUDFRONT/],
    ['feedbackRetrainsModel without feedback', { feedbackEnabled: false, feedbackRetrainsModel: true }, /feedbackRetrainsModel is true; the app only offers feedback with feedbackEnabled/],
  ];
  test.each(cases)('fails on %s, naming the prop', (_name, props, message) => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new WebFrontend(stack, 'Web', { apiUrl: API_URL, ...props })).toThrow(message);
  });
});

describe('WebFrontend config.json', () => {
  /** The config.json the deployment writes, read from the synthesized cloud assembly's staged asset. */
  function configJson(props: Partial<WebFrontendProps> = {}): unknown {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'web-config-'));
    try {
      const app = new App({ outdir });
      new WebFrontend(new Stack(app, 'Test'), 'Web', { apiUrl: API_URL, ...props });
      app.synth();
      const found = fs.readdirSync(outdir).map((d) => path.join(outdir, d, 'config.json')).filter((f) => fs.existsSync(f));
      expect(found).toHaveLength(1);
      return JSON.parse(fs.readFileSync(found[0], 'utf8'));
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }

  test('by default offers feedback and does not promise retraining', () => {
    expect(configJson()).toEqual({ apiUrl: API_URL, feedback: true, feedbackRetrainsModel: false });
  });

  test('feedbackRetrainsModel: true says so (the app then promises the ring count helps retrain the model)', () => {
    expect(configJson({ feedbackRetrainsModel: true })).toEqual({ apiUrl: API_URL, feedback: true, feedbackRetrainsModel: true });
  });

  test('without feedback there is neither feedback nor the promise', () => {
    expect(configJson({ feedbackEnabled: false })).toEqual({ apiUrl: API_URL, feedback: false, feedbackRetrainsModel: false });
  });
});
