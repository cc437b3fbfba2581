// Package provider is the Terraform glue of tablestore-delivery: it translates
// between Terraform values and calls of the executor's REST client
// (executor/client) and holds no delivery logic of its own.
package provider

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tablestore-delivery/terraform-provider-tablestore/executor/client"
)

// Environment variables read when the provider block leaves a setting out.
const (
	EnvEndpoint = "TABLESTORE_DELIVERY_ENDPOINT"
	EnvToken    = "TABLESTORE_DELIVERY_TOKEN"
)

var _ provider.Provider = (*tablestoreProvider)(nil)

// tablestoreProvider configures one executor client shared by every resource
// and data source of a provider block.
type tablestoreProvider struct {
	version string
}

// New returns the provider factory that providerserver.Serve and the
// acceptance tests use.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &tablestoreProvider{version: version}
	}
}

type providerModel struct {
	Endpoint types.String `tfsdk:"endpoint"`
	Token    types.String `tfsdk:"token"`
}

func (p *tablestoreProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "tablestore"
	resp.Version = p.version
}

func (p *tablestoreProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Manages Tablestore-to-OSS delivery tasks and delivery roles through a tablestore-delivery executor.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Description: "Base URL of the executor's REST API, for example `http://127.0.0.1:8470`. " +
					"Falls back to the `" + EnvEndpoint + "` environment variable.",
				Optional: true,
			},
			"token": schema.StringAttribute{
				Description: "Bearer token of the executor's REST API. " +
					"Falls back to the `" + EnvToken + "` environment variable.",
				Optional:  true,
				Sensitive: true,
			},
		},
	}
}

func (p *tablestoreProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}

	// An unknown value (e.g. the output of a resource not created yet) cannot
	// be replaced by the environment: that would silently talk to another
	// executor than the one the configuration names.
	if config.Endpoint.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Unknown executor endpoint",
			"The provider cannot create the executor client because the value of endpoint is not known yet. "+
				"Set it to a value known at plan time, or leave it out and set "+EnvEndpoint+".")
	}
	if config.Token.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "Unknown executor token",
			"The provider cannot create the executor client because the value of token is not known yet. "+
				"Set it to a value known at plan time, or leave it out and set "+EnvToken+".")
	}
	if resp.Diagnostics.HasError() {
		return
	}

	endpoint := valueOrEnv(config.Endpoint, EnvEndpoint)
	token := valueOrEnv(config.Token, EnvToken)
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Missing executor endpoint",
			"Set endpoint in the provider block or the "+EnvEndpoint+" environment variable "+
				"to the executor's API URL, for example http://127.0.0.1:8470.")
	}
	if token == "" {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "Missing executor token",
			"Set token in the provider block or the "+EnvToken+" environment variable "+
				"to the executor's API token.")
	}
	if resp.Diagnostics.HasError() {
		return
	}

	c, err := client.New(endpoint, token)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid executor endpoint", err.Error())
		return
	}
	resp.ResourceData = c
	resp.DataSourceData = c
}

// valueOrEnv prefers the configured value and falls back to the environment.
func valueOrEnv(v types.String, env string) string {
	if !v.IsNull() && v.ValueString() != "" {
		return v.ValueString()
	}
	return os.Getenv(env)
}

func (p *tablestoreProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewDeliveryTaskResource,
		NewDeliveryRoleResource,
	}
}

func (p *tablestoreProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewDeliveryDDLDataSource,
	}
}

// Provider-wide helpers every resource and data source uses.

// clientFrom takes the executor client the provider configured. Nil
// ProviderData happens during validation before the provider is configured.
func clientFrom(providerData any, diags *diag.Diagnostics) *client.Client {
	if providerData == nil {
		return nil
	}
	c, ok := providerData.(*client.Client)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *client.Client, got %T. This is a bug in the provider.", providerData))
		return nil
	}
	return c
}

// addClientError turns an executor error into a diagnostic; invalid
// requests name the field the executor rejected.
func addClientError(diags *diag.Diagnostics, summary string, err error) {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) && apiErr.Field != "" {
		if p, ok := attributePathForField(apiErr.Field); ok {
			diags.AddAttributeError(p, summary, err.Error())
			return
		}
	}
	diags.AddError(summary, err.Error())
}
