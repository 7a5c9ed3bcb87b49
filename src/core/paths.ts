/** Default locations, relative to the working directory, as the seed's users know them. */
export const DEFAULT_DATA_DIR = 'data';
export const DEFAULT_CSV = 'data/MovieGenre.csv';
export const DEFAULT_POSTERS = 'data/posters';
export const DEFAULT_DCGAN_DATA = 'data/dcgan';
export const DEFAULT_SAMPLES = 'samples';
export const DEFAULT_MODELS = 'models';
export const DEFAULT_REPORT = 'reports/report.html';
