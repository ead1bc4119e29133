import * as fs from 'fs';
import * as path from 'path';
import { Duration, Fn, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { createAccessLogsBucket, sendAccessLogs } from '../private/buckets';
import { acknowledgeNag, acknowledgeNagOnStackHelper } from '../private/nag';
import { PropsValidator } from '../private/validation';

/** Where the package keeps the prebuilt web app (built from webapp/ when the library is built). */
const WEBAPP_ASSET_DIR = path.join(__dirname, '..', '..', 'assets', 'webapp');

/**
 * Properties of {@link WebFrontend}.
 */
export interface WebFrontendProps {
  /**
   * Base URL of the prediction API, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/prod/`.
   *
   * Written to `/config.json` at deploy time (tokens are resolved then) and allowed by the content security policy.
   */
  readonly apiUrl: string;

  /**
   * Origin of the prediction API (`https://host`), allowed by the content security policy's `connect-src`.
   *
   * Give it when `apiUrl` references the API's stage and something of the API refers back to this site
   * (e.g. CORS): the origin alone does not depend on the stage, which avoids a circular dependency.
   *
   * @default - the scheme and host of `apiUrl`
   */
  readonly apiOrigin?: string;

  /**
   * Whether the app offers sending the actual ring count for a prediction (the API's feedback route).
   *
   * @default true
   */
  readonly feedbackEnabled?: boolean;

  /**
   * Whether feedback becomes training data: only then does the app say the ring count "helps retrain the model"
   * (`config.json`'s `feedbackRetrainsModel`). Needs `feedbackEnabled`.
   *
   * @default false
   */
  readonly feedbackRetrainsModel?: boolean;

  /**
   * CloudFront price class.
   *
   * @default cloudfront.PriceClass.PRICE_CLASS_100 (the cheapest: North America and Europe edge locations)
   */
  readonly priceClass?: cloudfront.PriceClass;

  /**
   * Custom domain names for the site. Requires `certificate`.
   *
   * @default - the distribution's cloudfront.net domain
   */
  readonly domainNames?: string[];

  /**
   * Certificate for `domainNames`, issued in us-east-1 (a CloudFront requirement). Requires `domainNames`.
   *
   * With it, viewers must use TLS 1.2 or later (security policy `TLSv1.2_2021`).
   *
   * @default - CloudFront's default *.cloudfront.net certificate, whose security policy (TLSv1) CloudFront fixes
   */
  readonly certificate?: acm.ICertificate;

  /**
   * ARN of an AWS WAF web ACL (scope CLOUDFRONT) to attach to the distribution.
   *
   * @default - no web ACL
   */
  readonly webAclId?: string;

  /**
   * What happens to the site and log buckets when the stack is deleted.
   *
   * The site bucket only holds the built app, so by default it is emptied and deleted; logs are retained.
   *
   * @default RemovalPolicy.RETAIN for the log bucket; the site bucket is always destroyed with the stack
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The web app where a person enters an abalone's measurements and gets its predicted age.
 *
 * A private S3 bucket served only through CloudFront (origin access control), HTTPS only, security headers with a
 * content security policy that allows the prediction API and nothing else the app does not need, SPA fallback,
 * access logs, and the prebuilt React app deployed with a `config.json` that points at the API.
 */
export class WebFrontend extends Construct {
  /** The CloudFront distribution. */
  public readonly distribution: cloudfront.Distribution;

  /** The private bucket holding the built app. */
  public readonly siteBucket: s3.IBucket;

  /** The bucket receiving CloudFront's and the site bucket's access logs. */
  public readonly logBucket: s3.IBucket;

  /** The site's URL, e.g. `https://d111111abcdef8.cloudfront.net` (no trailing slash): the origin to allow in CORS. */
  public readonly siteUrl: string;

  constructor(scope: Construct, id: string, props: WebFrontendProps) {
    super(scope, id);
    validateProps(props);
    if (!fs.existsSync(path.join(WEBAPP_ASSET_DIR, 'index.html'))) {
      throw new Error(`The web app is not built (${WEBAPP_ASSET_DIR}/index.html is missing): run \`npx projen webapp:build\`.`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // CloudFront standard logs are delivered with ACLs, so this bucket keeps object-writer ownership.
    const logBucket = createAccessLogsBucket(this, 'LogBucket', removalPolicy, s3.ObjectOwnership.OBJECT_WRITER);
    this.logBucket = logBucket;

    const siteBucket = new s3.Bucket(this, 'SiteBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    sendAccessLogs(siteBucket, logBucket, 'site-bucket/');
    this.siteBucket = siteBucket;

    const apiOrigin = props.apiOrigin ?? `https://${Fn.select(2, Fn.split('/', props.apiUrl))}`;
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Abalone web app: strict CSP that allows only the prediction API',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "manifest-src 'self'",
            `connect-src 'self' ${apiOrigin}`,
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
          ].join('; '),
          override: true,
        },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, preload: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [{ header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=()', override: true }],
      },
    });

    const origin = origins.S3BucketOrigin.withOriginAccessControl(siteBucket);
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Abalone age prediction web app',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
      additionalBehaviors: {
        // Written at each deployment: never served stale.
        '/config.json': {
          origin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
          responseHeadersPolicy: headers,
        },
      },
      // Client-side routes of the single-page app resolve to index.html.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus, responseHttpStatus: 200, responsePagePath: '/index.html', ttl: Duration.minutes(5),
      })),
      // The security policy applies only to a custom certificate: with CloudFront's default certificate the policy
      // is TLSv1 whatever is set, so the setting is given only with `certificate`.
      ...(props.certificate ? { minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 } : {}),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      domainNames: props.domainNames,
      certificate: props.certificate,
      webAclId: props.webAclId,
      enableLogging: true,
      logBucket,
      logFilePrefix: 'cloudfront/',
    });
    this.siteUrl = `https://${this.distribution.distributionDomainName}`;

    acknowledgeNag(this.distribution, [
      { id: 'AwsSolutions-CFR1', reason: 'The app is meant for anyone, anywhere; geo restrictions are left to the consumer.' },
      ...(props.webAclId ? [] : [{
        id: 'AwsSolutions-CFR2',
        reason: 'A web ACL bills per ACL and rule; it is opt-in through the webAclId prop. The site is static and the API it calls is throttled.',
      }]),
      ...(props.certificate ? [] : [{
        id: 'AwsSolutions-CFR4',
        reason: 'Without a custom domain the distribution serves CloudFront\'s default *.cloudfront.net certificate, whose security policy '
          + 'is TLSv1 and cannot be changed (Amazon CloudFront Developer Guide, "Supported protocols and ciphers between viewers and CloudFront": '
          + 'https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html). '
          + 'With domainNames and certificate the distribution requires TLSv1.2_2021.',
      }]),
    ]);

    new s3deploy.BucketDeployment(this, 'DeployApp', {
      sources: [
        s3deploy.Source.asset(WEBAPP_ASSET_DIR),
        s3deploy.Source.jsonData('config.json', {
          apiUrl: props.apiUrl,
          feedback: props.feedbackEnabled ?? true,
          feedbackRetrainsModel: props.feedbackRetrainsModel ?? false,
        }, { escape: true }),
      ],
      destinationBucket: siteBucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      prune: true,
      memoryLimit: 256,
    });

    acknowledgeNagOnStackHelper(this, 'Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C', [
      { id: 'AwsSolutions-IAM4', reason: 'CDK\'s BucketDeployment helper function uses AWSLambdaBasicExecutionRole for its own logs; it only runs at deploy time.', appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'] },
      { id: 'AwsSolutions-IAM5', reason: 'CDK\'s BucketDeployment helper reads its asset objects and writes every key of the site bucket, and creates CloudFront invalidations (which take no resource ARN).' },
      { id: 'AwsSolutions-L1', reason: 'The runtime of CDK\'s BucketDeployment helper is chosen by aws-cdk-lib, not by this library.' },
    ]);
  }
}

function validateProps(props: WebFrontendProps): void {
  const v = new PropsValidator('WebFrontend');
  v.check(Token.isUnresolved(props.apiUrl) || /^https?:\/\/[^/\s]+(\/\S*)?$/.test(props.apiUrl), 'apiUrl', props.apiUrl,
    'it must be an absolute http(s) URL such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod/');
  v.check(props.apiOrigin === undefined || Token.isUnresolved(props.apiOrigin) || /^https?:\/\/[^/\s]+$/.test(props.apiOrigin), 'apiOrigin', props.apiOrigin,
    'it must be a scheme and host without a path, such as https://abc123.execute-api.eu-west-1.amazonaws.com');
  v.check(!(props.feedbackRetrainsModel && props.feedbackEnabled === false), 'feedbackRetrainsModel', props.feedbackRetrainsModel,
    'the app only offers feedback with feedbackEnabled: remove it or set feedbackEnabled to true');
  v.check((props.domainNames === undefined) === (props.certificate === undefined), 'domainNames', props.domainNames,
    'domainNames and certificate go together: give both or neither');
  v.check(props.domainNames === undefined || props.domainNames.length > 0, 'domainNames', props.domainNames,
    'it must name at least one domain when given');
  v.pattern('webAclId', props.webAclId, /^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global\/webacl\/.+$/,
    'it must be the ARN of a WAFv2 web ACL with scope CLOUDFRONT (arn:aws:wafv2:us-east-1:<account>:global/webacl/...)');
  v.throwIfInvalid();
}
