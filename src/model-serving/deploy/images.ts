import { Aws, CfnMapping, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';

/**
 * ECR registry account of the SageMaker sklearn 1.2-1 and xgboost 1.7-1 images, per Region (the same for both),
 * from the SageMaker Python SDK's image_uri_config.
 */
export const IMAGE_REGISTRY_ACCOUNTS: { readonly [region: string]: string } = {
  'af-south-1': '510948584623',
  'ap-east-1': '651117190479',
  'ap-northeast-1': '354813040037',
  'ap-northeast-2': '366743142698',
  'ap-northeast-3': '867004704886',
  'ap-south-1': '720646828776',
  'ap-south-2': '628508329040',
  'ap-southeast-1': '121021644041',
  'ap-southeast-2': '783357654285',
  'ap-southeast-3': '951798379941',
  'ap-southeast-4': '106583098589',
  'ca-central-1': '341280168497',
  'ca-west-1': '190319476487',
  'cn-north-1': '450853457545',
  'cn-northwest-1': '451049120500',
  'eu-central-1': '492215442770',
  'eu-central-2': '680994064768',
  'eu-north-1': '662702820516',
  'eu-south-1': '978288397137',
  'eu-south-2': '104374241257',
  'eu-west-1': '141502667606',
  'eu-west-2': '764974769150',
  'eu-west-3': '659782779980',
  'il-central-1': '898809789911',
  'me-central-1': '272398656194',
  'me-south-1': '801668240914',
  'sa-east-1': '737474898029',
  'us-east-1': '683313688378',
  'us-east-2': '257758044811',
  'us-gov-east-1': '237065988967',
  'us-gov-west-1': '414596584902',
  'us-iso-east-1': '833128469047',
  'us-isob-east-1': '281123927165',
  'us-isof-east-1': '108575199400',
  'us-isof-south-1': '124985052026',
  'us-west-1': '746614075791',
  'us-west-2': '246618743249',
};

/** Repositories of the two containers of the abalone model package (preprocessor and XGBoost). */
export const INFERENCE_REPOSITORIES = ['sagemaker-scikit-learn', 'sagemaker-xgboost'];

/**
 * ARNs of the inference image repositories in the stack's Region: literal when the Region is known at synth,
 * a template mapping otherwise. Throws for a Region without these images.
 */
export function inferenceRepositoryArns(scope: Construct): string[] {
  const stack = Stack.of(scope);
  let account: string;
  if (Token.isUnresolved(stack.region)) {
    const mapping = new CfnMapping(scope, 'ImageRegistries', {
      mapping: Object.fromEntries(Object.entries(IMAGE_REGISTRY_ACCOUNTS).map(([region, id]) => [region, { account: id }])),
    });
    account = mapping.findInMap(Aws.REGION, 'account');
  } else {
    const known = IMAGE_REGISTRY_ACCOUNTS[stack.region];
    if (!known) {
      throw new Error(`Region ${stack.region} has no SageMaker sklearn 1.2-1 / xgboost 1.7-1 images; supported: ${Object.keys(IMAGE_REGISTRY_ACCOUNTS).join(', ')}`);
    }
    account = known;
  }
  return INFERENCE_REPOSITORIES.map((repository) => stack.formatArn({
    service: 'ecr',
    account,
    resource: 'repository',
    resourceName: repository,
  }));
}
