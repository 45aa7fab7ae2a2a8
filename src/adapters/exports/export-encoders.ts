import type { ExportEncoders } from '../../application/index.js';
import { CsvExportEncoder } from './csv-export-encoder.js';
import { JsonExportEncoder } from './json-export-encoder.js';

export const exportEncoders = (): ExportEncoders => ({ json: new JsonExportEncoder(), csv: new CsvExportEncoder() });
