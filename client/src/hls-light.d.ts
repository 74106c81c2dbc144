/** hls.js's light build (no alternate audio, subtitles or DRM) has the same API as the full one. */
declare module 'hls.js/light' {
  export { default } from 'hls.js';
}
