// Prints what a synthesized cloud assembly holds: stacks, resource counts by type, template sizes, assets.
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
if (!dir || !fs.existsSync(path.join(dir, 'manifest.json'))) {
  console.error(`No cloud assembly at ${dir}: run the synth first.`);
  process.exit(1);
}
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
for (const [name, artifact] of Object.entries(manifest.artifacts ?? {})) {
  if (artifact.type !== 'aws:cloudformation:stack') continue;
  const templateFile = path.join(dir, artifact.properties.templateFile);
  const template = JSON.parse(fs.readFileSync(templateFile, 'utf8'));
  const byType = {};
  for (const resource of Object.values(template.Resources ?? {})) {
    byType[resource.Type] = (byType[resource.Type] ?? 0) + 1;
  }
  const total = Object.values(byType).reduce((a, b) => a + b, 0);
  console.log(`Stack ${name}: ${total} resources, template ${(fs.statSync(templateFile).size / 1024).toFixed(1)} KB (${templateFile})`);
  for (const [type, count] of Object.entries(byType).sort()) {
    console.log(`  ${String(count).padStart(3)}  ${type}`);
  }
  const outputs = Object.keys(template.Outputs ?? {});
  if (outputs.length > 0) console.log(`  outputs: ${outputs.join(', ')}`);
}
const assetManifests = fs.readdirSync(dir).filter((f) => f.endsWith('.assets.json'));
for (const file of assetManifests) {
  const assets = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const files = Object.keys(assets.files ?? {}).length;
  const images = Object.keys(assets.dockerImages ?? {}).length;
  console.log(`Assets (${file}): ${files} file asset(s), ${images} container image(s)`);
}
