/**
 * A model registry in a folder, standing in for a SageMaker model package group: numbered versions with their
 * inference containers' model archives, metrics, lineage and approval status.
 *
 * Layout: `<root>/<version>/model-package.json` and `<root>/<version>/containers/<n>/model.tar.gz`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const APPROVAL_STATUSES = ['PendingManualApproval', 'Approved', 'Rejected'] as const;

/** One inference container of a registered model, in request order. */
export interface RegisteredContainer {
  readonly image: string;
  readonly environment: Record<string, string>;
  /** The container's model archive inside the registry. */
  readonly modelDataPath: string;
}

/** One data file a model version was trained on, as the run read it. */
export interface DataFileLineage {
  /** Its name in the run's `data` folder (what the run's manifest lists). */
  readonly name: string;
  /** Where it was copied from: a file path or a URL. */
  readonly source: string;
  /** Data rows (a header row not counted). */
  readonly rows: number;
  readonly sha256: string;
}

/** A registered model version. */
export interface RegisteredModel {
  readonly version: number;
  /** `local:model-package/<group>/<version>`, shaped like a model package ARN. */
  readonly arn: string;
  readonly modelPackageGroupName: string;
  readonly description?: string;
  readonly approvalStatus: string;
  readonly createdAt: string;
  readonly contentType: string;
  readonly containers: RegisteredContainer[];
  /** evaluation.json as the pipeline wrote it. */
  readonly metrics: unknown;
  /** Lineage: the input manifest, split seed, pipeline execution. */
  readonly customerMetadata: Record<string, string>;
  /** Lineage: the data files the run read, when the run recorded them. */
  readonly dataFiles?: readonly DataFileLineage[];
}

/** What RegisterModel hands over. */
export interface ModelRegistration {
  readonly modelPackageGroupName: string;
  readonly description?: string;
  readonly approvalStatus: string;
  readonly contentType: string;
  /** Containers with `modelDataPath` pointing at the archives to copy in. */
  readonly containers: RegisteredContainer[];
  readonly metrics: unknown;
  readonly customerMetadata: Record<string, string>;
}

const PACKAGE_FILE = 'model-package.json';

export class LocalModelRegistry {
  constructor(readonly root: string) {}

  /** Adds a version: copies the model archives in and records the rest. */
  public register(registration: ModelRegistration): RegisteredModel {
    checkStatus(registration.approvalStatus);
    fs.mkdirSync(this.root, { recursive: true });
    const version = Math.max(0, ...this.versions()) + 1;
    const dir = path.join(this.root, String(version));
    fs.mkdirSync(dir);
    const containers = registration.containers.map((c, i) => {
      const target = this.archivePath(version, i);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(c.modelDataPath, target);
      return { image: c.image, environment: c.environment, modelDataPath: target };
    });
    const model: RegisteredModel = {
      version,
      arn: `local:model-package/${registration.modelPackageGroupName}/${version}`,
      modelPackageGroupName: registration.modelPackageGroupName,
      description: registration.description,
      approvalStatus: registration.approvalStatus,
      createdAt: new Date().toISOString(),
      contentType: registration.contentType,
      containers,
      metrics: registration.metrics,
      customerMetadata: registration.customerMetadata,
    };
    this.write(model);
    return model;
  }

  /** Every version, oldest first. */
  public list(): RegisteredModel[] {
    return this.versions().sort((a, b) => a - b).map((v) => this.get(v));
  }

  /** One version; throws a clear error for an unknown or unreadable one. */
  public get(version: number): RegisteredModel {
    const file = path.join(this.root, String(version), PACKAGE_FILE);
    if (!fs.existsSync(file)) {
      throw new Error(`Model version ${version} is not in the registry at ${this.root} (versions: ${this.versions().join(', ') || 'none'})`);
    }
    let model: RegisteredModel;
    try {
      model = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (!Array.isArray(model?.containers)) throw new Error('it lists no containers');
    } catch (e) {
      throw new Error(`Model version ${version} is corrupt (${file}): ${(e as Error).message}`);
    }
    // Archives are found by the layout, not the recorded path: the home may have moved, or been given relative
    // to another working directory.
    return { ...model, containers: model.containers.map((c, i) => ({ ...c, modelDataPath: this.archivePath(version, i) })) };
  }

  /** The newest Approved version, if any. */
  public latestApproved(): RegisteredModel | undefined {
    return this.list().filter((m) => m.approvalStatus === 'Approved').pop();
  }

  /** Records the data files a version was trained on. */
  public recordDataFiles(version: number, dataFiles: readonly DataFileLineage[]): RegisteredModel {
    const model = { ...this.get(version), dataFiles };
    this.write(model);
    return model;
  }

  /** Sets a version's approval status. */
  public setApprovalStatus(version: number, status: string): RegisteredModel {
    checkStatus(status);
    const model = { ...this.get(version), approvalStatus: status };
    this.write(model);
    return model;
  }

  private archivePath(version: number, container: number): string {
    return path.resolve(this.root, String(version), 'containers', String(container), 'model.tar.gz');
  }

  private versions(): number[] {
    if (!fs.existsSync(this.root)) return [];
    return fs.readdirSync(this.root).filter((d) => /^\d+$/.test(d)).map(Number);
  }

  private write(model: RegisteredModel): void {
    const file = path.join(this.root, String(model.version), PACKAGE_FILE);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(model, null, 2));
    fs.renameSync(`${file}.tmp`, file);
  }
}

function checkStatus(status: string): void {
  if (!(APPROVAL_STATUSES as readonly string[]).includes(status)) {
    throw new Error(`Approval status must be one of ${APPROVAL_STATUSES.join(', ')}, got ${status}`);
  }
}
