/* /docs: Swagger UI (npm swagger-ui-dist, served by the service) over this service's /openapi.json.
 * validatorUrl null: the UI would otherwise load a badge from an outside validator. */
window.ui = window.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
