export * from './csv.js';
export * from './filters.js';
export * from './genres.js';
export * from './movie.js';
export * from './posters.js';
export * from './split.js';
